package agent_test

import (
	"context"
	"encoding/binary"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/internal/servicetest"
	"github.com/digitale-verwaltung/termin/kiosk/agent"
)

// wavDuration reads the length of a PCM WAV file from its header.
func wavDuration(b []byte) (time.Duration, error) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return 0, errors.New("not a WAV file")
	}
	var byteRate uint32
	for p := 12; p+8 <= len(b); {
		id, size := string(b[p:p+4]), binary.LittleEndian.Uint32(b[p+4:p+8])
		body := b[p+8:]
		switch id {
		case "fmt ":
			if len(body) < 16 {
				return 0, errors.New("short fmt chunk")
			}
			byteRate = binary.LittleEndian.Uint32(body[8:12])
		case "data":
			if byteRate == 0 {
				return 0, errors.New("data before fmt")
			}
			// espeak-ng writing to a file it cannot seek leaves the size
			// unset; count what is there.
			n := min(uint64(size), uint64(len(body)))
			return time.Duration(n) * time.Second / time.Duration(byteRate), nil
		}
		p += 8 + int(size) + int(size%2)
	}
	return 0, errors.New("no data chunk")
}

func haveEspeak(t *testing.T) bool {
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		if os.Getenv("TERMIN_REQUIRE_SERVICES") != "" {
			t.Fatal("espeak-ng is not installed; deploy/browser.sh install installs it")
		}
		t.Log("espeak-ng is not installed: only the command line is checked")
		return false
	}
	return true
}

func waitSpoken(t *testing.T, s *agent.Speaker, what string, cond func(agent.Utterance) bool) agent.Utterance {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for _, u := range s.Spoken() {
			if cond(u) {
				return u
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("not spoken: %s (spoken: %+v)", what, s.Spoken())
	return agent.Utterance{}
}

// The speech command gets the text on standard input and the language's
// voice; the real espeak-ng writes a WAV as long as the text takes to say.
func TestSpeakerEspeakWAV(t *testing.T) {
	wav := filepath.Join(t.TempDir(), "out.wav")
	s, err := agent.NewSpeaker("espeak-ng --stdin -v {voice} -w "+wav, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	real := haveEspeak(t)
	tests := []struct{ lang, voice, text string }{
		{"de", "de", "Ihre Nummer: A 0 1 7. Vor Ihnen: 3."},
		{"ar", "ar", "رقمك: A 0 1 7."},
		{"uk", "uk", "Ваш номер: A 0 1 7."},
	}
	for _, tt := range tests {
		os.Remove(wav)
		s.Say(tt.lang, tt.text)
		u := waitSpoken(t, s, tt.text, func(u agent.Utterance) bool { return u.Text == tt.text })
		if strings.Join(u.Argv, " ") != "espeak-ng --stdin -v "+tt.voice+" -w "+wav {
			t.Errorf("%s: command %q", tt.lang, u.Argv)
		}
		if !real {
			continue
		}
		if u.Err != "" {
			t.Fatalf("%s: espeak-ng: %s", tt.lang, u.Err)
		}
		b, err := os.ReadFile(wav)
		if err != nil {
			t.Fatal(err)
		}
		d, err := wavDuration(b)
		if err != nil {
			t.Fatalf("%s: %v", tt.lang, err)
		}
		// About 0.1–0.5 s a syllable at 150 words a minute.
		if d < 700*time.Millisecond || d > 12*time.Second {
			t.Errorf("%s: %q lasts %v", tt.lang, tt.text, d)
		}
		t.Logf("%s: %v", tt.lang, d)
	}
}

// A missing speech program does not stop the kiosk; the utterance is
// recorded with the error.
func TestSpeakerMissingCommand(t *testing.T) {
	s, err := agent.NewSpeaker("no-such-speech-program-xyz --stdin -v {voice}", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	s.Say("tr", "Numaranız A 0 0 1.")
	u := waitSpoken(t, s, "tr", func(agent.Utterance) bool { return true })
	if u.Err == "" || strings.Join(u.Argv, " ") != "no-such-speech-program-xyz --stdin -v tr" {
		t.Errorf("utterance %+v", u)
	}
}

// A walk-in with speech on: the start screen is spoken after the help key,
// then the drawn number in the session's language.
func TestCounterWalkInSpeech(t *testing.T) {
	s := startServer(t)
	wav := filepath.Join(t.TempDir(), "speech.wav")
	r := newRig(t, s, rigOptions{location: office, mode: "counter", tweak: func(c *agent.Config) {
		c.SpeechCommand = "espeak-ng --stdin -v {voice} -w " + wav
	}})
	real := haveEspeak(t)
	sp := r.agent.Speaker()
	r.post("/lang", url.Values{"lang": {"tr"}})
	r.post("/help", nil)
	waitSpoken(t, sp, "help in Turkish", func(u agent.Utterance) bool {
		return u.Lang == "tr" && strings.Contains(u.Text, "Sesli anlatım açık") && strings.Contains(u.Text, "Randevum var")
	})
	r.post("/services", nil)
	waitSpoken(t, sp, "service list", func(u agent.Utterance) bool {
		return strings.Contains(u.Text, "Hangi işlem için numara istiyorsunuz?") && strings.Contains(u.Text, "Meldebescheinigung")
	})
	r.post("/walk-in", url.Values{"service": {"meldebescheinigung"}})
	u := waitSpoken(t, sp, "the number", func(u agent.Utterance) bool { return strings.Contains(u.Text, "Numaranız: A 0 0 1") })
	if u.Lang != "tr" || u.Argv[len(u.Argv)-3] != "tr" {
		t.Errorf("number spoken as %+v", u)
	}
	if real {
		servicetest.Eventually(t, "the WAV", 10*time.Second, func() bool {
			b, err := os.ReadFile(wav)
			if err != nil {
				return false
			}
			d, err := wavDuration(b)
			return err == nil && d > time.Second
		})
	}
	// The session ends: speech is off again for the next visitor.
	r.post("/done", nil)
	if st := r.status(); st.Lang != "de" {
		t.Errorf("after done: lang %q", st.Lang)
	}
}

// Plugging a headset into the jack switches speech on for the session
// and reads the keys and the screen aloud.
func TestCounterHeadsetSwitchesSpeechOn(t *testing.T) {
	s := startServer(t)
	fifo := filepath.Join(t.TempDir(), "jack")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	r := newRig(t, s, rigOptions{location: office, mode: "counter", tweak: func(c *agent.Config) {
		c.HeadsetInput = fifo
		c.SpeechCommand = "espeak-ng --stdin -v {voice} -w " + filepath.Join(t.TempDir(), "speech.wav")
	}})
	r.post("/lang", url.Values{"lang": {"ru"}})
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// struct input_event on a 64-bit system: time, EV_SW, SW_HEADPHONE_INSERT, 1.
	ev := make([]byte, 24)
	binary.NativeEndian.PutUint16(ev[16:], 0x05)
	binary.NativeEndian.PutUint16(ev[18:], 0x02)
	binary.NativeEndian.PutUint32(ev[20:], 1)
	if _, err := w.Write(ev); err != nil {
		t.Fatal(err)
	}
	waitSpoken(t, r.agent.Speaker(), "speech on in Russian", func(u agent.Utterance) bool {
		return u.Lang == "ru" && strings.Contains(u.Text, "Озвучивание включено.")
	})
	// With speech on, the next screen is spoken by itself.
	r.post("/services", nil)
	waitSpoken(t, r.agent.Speaker(), "the services screen", func(u agent.Utterance) bool {
		return strings.Contains(u.Text, "Для какой услуги вам нужен номер?")
	})
}
