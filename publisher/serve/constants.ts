/**
 * Constants of `zkrisk publisher serve`. The window size is meant to be the feature engine's (the bars one
 * feature vector reads); until that engine exports it, it is fixed here.
 */

/**
 * Bars in every window the publisher signs: the window of SIGNED_WINDOW_BARS bars ending at each newly
 * closed bar (candles/window.ts `buildWindow`).
 */
export const SIGNED_WINDOW_BARS = 85;
