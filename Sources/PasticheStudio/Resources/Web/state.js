// The page's state, and the window.studio hook the browser tests read.

export const state = {
  styles: [],           // from GET /api/styles
  mix: new Map(),       // name -> weight slider value (0..100), in insertion order
  masks: new Map(),     // name -> {photo, file}: an uploaded mask for that style
  focused: null,        // the style shown in the detail panel
  photo: null,          // {photo, width, height}
  previewSeq: 0,        // sequence number of the newest preview asked for
  shownSeq: 0,          // sequence number of the preview on screen
  inFlight: false,
  pendingSince: null,   // time of the first input not yet covered by a request
};

// What the browser tests read: slider-to-image latencies and counters.
window.studio = { latencies: [], previews: 0, dropped: 0, errors: 0, state };
