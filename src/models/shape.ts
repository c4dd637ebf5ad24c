/**
 * @file What every model of the zoo is built for: the shape of one image and the number of classes.
 */

/** Images [N, channels, height, width] in, logits [N, classes] out. */
export interface ImageShape {
  channels: number;
  height: number;
  width: number;
  classes: number;
}
