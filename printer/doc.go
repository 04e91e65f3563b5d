// Package printer encodes queue tickets as ESC/POS bytes, parses printer
// real-time status replies and renders ESC/POS bytes back to an image.
//
// EncodeTicket lays out a Ticket; Encoder composes other receipts. A
// Profile adapts the bytes to a printer model (code page number, width,
// QR support); ProfileByName and ProfileByUSB find one. Text PC858
// cannot hold (Cyrillic, Arabic, Turkish ğ ş ı İ) is shaped, ordered
// and drawn here and sent as raster images; see docs/printers.md.
// ParseStatus and ParseASB read what the printer reports. Decode and
// Render interpret ESC/POS bytes through the same parser: Decode gives
// the text lines and QR payloads for assertions, Render a PNG-ready
// preview (docs/ticket.png is one).
//
// The golden images in testdata and docs/ticket.png are rewritten with
//
//	go test ./printer -run 'Golden|Docs' -update
package printer
