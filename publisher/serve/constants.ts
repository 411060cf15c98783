/** Constants of `zkrisk publisher serve`. */
import { FEATURE_WINDOW_BARS } from "../../features/window-features";

/**
 * Bars in every window the publisher signs: the window of the feature engine (the bars one feature vector
 * reads) ending at each newly closed bar (candles/window.ts `buildWindow`).
 */
export const SIGNED_WINDOW_BARS = FEATURE_WINDOW_BARS;
