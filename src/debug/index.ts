/**
 * @file Debugging gradients: anomaly mode (the first NaN/Inf an op produces, forward or backward, named with where
 * it was called), gradReport (per-parameter gradient and parameter norms, update ratios and flags), explain (the
 * backward pass as adjoint equations with shapes), toDot (the graph for Graphviz) and the profiler (profile, profiler.record).
 */
export {
  AnomalyError,
  type AnomalyPhase,
  detectAnomaly,
  isAnomalyEnabled,
  setDetectAnomaly,
} from '../autograd/anomaly.js';
export { type DotOptions, toDot } from './dot.js';
export { type AdjointEquation, type ExplainOptions, type Explanation, explain, type ForwardStep } from './explain.js';
export {
  type EventKind,
  type GroupBy,
  type KeyAverage,
  type MemorySample,
  Profile,
  type ProfileOptions,
  type ProfilerEvent,
  profile,
  profiler,
  type SortBy,
} from './profiler.js';
export {
  type GradFlag,
  type GradReport,
  type GradReportOptions,
  type GradReportRow,
  gradReport,
  type NamedTensors,
} from './report.js';
