// Package printer encodes queue tickets as ESC/POS bytes, parses printer
// real-time status replies and renders ESC/POS bytes back to an image.
package printer
