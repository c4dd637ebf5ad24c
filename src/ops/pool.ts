/** @file (being written) */
export {};
