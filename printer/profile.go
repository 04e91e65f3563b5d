package printer

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Profile describes what a printer model needs from the encoder: ESC/POS
// is one command set, but code page numbers, the printable width and the
// two-dimensional symbol commands differ between models as they are
// sold.
//
// The zero Profile stands for DefaultProfile, so Options{} behaves as it
// always has. A custom Profile must set Name.
type Profile struct {
	// Name identifies the profile in configuration, e.g. "epson-tm-t88".
	Name string
	// Description names the models the profile was made for.
	Description string
	// CodePage is the ESC t number that selects PC858 (Latin-1 with
	// the euro sign) on this model.
	CodePage byte
	// PaperWidth is the printable width of the head in dots; zero means
	// the model does not narrow Options.PaperWidth.
	PaperWidth int
	// RasterQR is set for models without GS ( k: QR codes are then drawn
	// here and sent as a GS v 0 image, whatever Options.QRMode says.
	RasterQR bool
	// USB lists the USB identities that select this profile.
	USB []USBID
}

// USBID is a USB vendor and product id. A zero PID matches every product
// of the vendor.
type USBID struct {
	VID, PID uint16
}

// ErrUnknownProfile reports a profile name that is not built in.
var ErrUnknownProfile = errors.New("printer: unknown printer profile")

// DefaultProfile is Epson's numbering (PC858 = ESC t 19) with native QR
// codes and no width limit of its own: Epson TM-T20/TM-m30 class printers
// and the many clones that follow Epson's tables.
var DefaultProfile = Profile{
	Name:        "generic",
	Description: "ESC/POS as documented by Epson: TM-T20, TM-m30 and compatible clones",
	CodePage:    CodePagePC858,
}

// builtinProfiles are the models we know; ProfileByUSB tries them in this
// order, so exact vendor:product pairs come before vendor-wide entries.
//
// Sources: Epson's ESC t table (PC858 = 19, PC857 = 13), Bixolon's
// command manual (same numbering), Star's ESC/POS emulation table
// (PC858 = 4), Wincor Nixdorf TH230 (PC858 = 6, no GS ( k), Citizen
// CT-S310 series (PC858 = 2 in its table).
var builtinProfiles = []Profile{
	DefaultProfile,
	{
		// TM-T88 heads are 180 dpi: 72 mm of 80 mm paper is 512 dots,
		// not 576. The V and later have GS ( k.
		Name:        "epson-tm-t88",
		Description: "Epson TM-T88V, TM-T88VI, TM-T88VII (180 dpi)",
		CodePage:    CodePagePC858,
		PaperWidth:  512,
		// Epson uses 0202 for the whole TM line, so the pair cannot tell
		// a TM-T88 from a TM-T20. The narrower width is the safe guess:
		// on a 576-dot head it only leaves a wider margin, whereas 576
		// dots on a TM-T88 would cut off the right edge.
		USB: []USBID{{0x04B8, 0x0202}, {0x04B8, 0}},
	},
	{
		Name:        "epson-tm-t88iv",
		Description: "Epson TM-T88III, TM-T88IV (180 dpi, no GS ( k)",
		CodePage:    CodePagePC858,
		PaperWidth:  512,
		RasterQR:    true,
	},
	{
		Name:        "epson-tm-t20",
		Description: "Epson TM-T20II, TM-T20III, TM-m30 (203 dpi, 80 mm)",
		CodePage:    CodePagePC858,
		PaperWidth:  Paper80mm,
	},
	{
		Name:        "bixolon-srp-350",
		Description: "Bixolon SRP-350III, SRP-350plusIII (180 dpi)",
		CodePage:    CodePagePC858,
		PaperWidth:  512,
		USB:         []USBID{{0x1504, 0}},
	},
	{
		Name:        "bixolon-srp-330",
		Description: "Bixolon SRP-330II, SRP-S300 (203 dpi, 80 mm)",
		CodePage:    CodePagePC858,
		PaperWidth:  Paper80mm,
	},
	{
		Name:        "citizen-ct-s310",
		Description: "Citizen CT-S310II and firmware that numbers PC858 as 2",
		CodePage:    2,
		PaperWidth:  Paper80mm,
		USB:         []USBID{{0x1D90, 0}},
	},
	{
		// Star's ESC/POS emulation keeps Star's own table numbers.
		// Star Line mode and StarPRNT are other command sets and are
		// not supported.
		Name:        "star-escpos",
		Description: "Star TSP100IV, TSP650II, mC-Print3 in ESC/POS emulation",
		CodePage:    4,
		PaperWidth:  Paper80mm,
		USB:         []USBID{{0x0519, 0}},
	},
	{
		Name:        "wincor-th230",
		Description: "Wincor Nixdorf / Diebold Nixdorf TH230, TH230+ (no GS ( k)",
		CodePage:    6,
		PaperWidth:  Paper80mm,
		RasterQR:    true,
		USB:         []USBID{{0x0AA7, 0}},
	},
	{
		Name:        "hp-a799",
		Description: "HP A799 and other Wincor-built HP printers (PC858 = 6, no GS ( k)",
		CodePage:    6,
		PaperWidth:  Paper80mm,
		RasterQR:    true,
	},
	{
		// The 5890/80xx clones follow Epson's numbering.
		Name:        "clone-58mm",
		Description: "58 mm clones (POS-5890, ZJ-5890 and similar)",
		CodePage:    CodePagePC858,
		PaperWidth:  Paper58mm,
	},
	{
		Name:        "clone-80mm",
		Description: "80 mm clones (POS-80, XP-80 and similar)",
		CodePage:    CodePagePC858,
		PaperWidth:  Paper80mm,
		USB:         []USBID{{0x0416, 0x5011}},
	},
}

// Profiles returns the built-in profiles; the caller may modify the copy.
func Profiles() []Profile {
	out := make([]Profile, len(builtinProfiles))
	for i, p := range builtinProfiles {
		p.USB = append([]USBID(nil), p.USB...)
		out[i] = p
	}
	return out
}

// ProfileByName returns the built-in profile with that name, ignoring
// case. An empty name is DefaultProfile.
func ProfileByName(name string) (Profile, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return DefaultProfile, nil
	}
	for _, p := range Profiles() {
		if strings.EqualFold(p.Name, name) {
			return p, nil
		}
	}
	return Profile{}, fmt.Errorf("%w %q", ErrUnknownProfile, name)
}

// ProfileByUSB returns the profile for a USB vendor and product id given
// in hex as USB enumerators report them ("04B8", "0x0202"). An exact
// vendor:product pair wins over a vendor-wide entry; ok is false when
// neither is known or the ids are not hex.
func ProfileByUSB(vid, pid string) (p Profile, ok bool) {
	v, err1 := parseUSBID(vid)
	d, err2 := parseUSBID(pid)
	if err1 != nil || err2 != nil {
		return Profile{}, false
	}
	return ProfileForUSBID(USBID{VID: v, PID: d})
}

// ProfileForUSBID is ProfileByUSB for numeric ids.
func ProfileForUSBID(id USBID) (Profile, bool) {
	profiles := Profiles()
	for _, p := range profiles {
		for _, u := range p.USB {
			if u.PID != 0 && u == id {
				return p, true
			}
		}
	}
	for _, p := range profiles {
		for _, u := range p.USB {
			if u.PID == 0 && u.VID == id.VID {
				return p, true
			}
		}
	}
	return Profile{}, false
}

func parseUSBID(s string) (uint16, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	n, err := strconv.ParseUint(s, 16, 16)
	return uint16(n), err
}

// profile returns the profile in effect: the zero Profile is
// DefaultProfile.
func (o Options) profile() Profile {
	if o.Profile.Name == "" {
		return DefaultProfile
	}
	return o.Profile
}
