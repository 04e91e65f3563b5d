package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// DefaultSpeechCommand speaks through the default audio output, the
// kiosk's headset jack. {voice} is replaced by the language's espeak-ng
// voice; the text arrives on standard input, so it is never parsed as an
// option.
const DefaultSpeechCommand = "espeak-ng --stdin -v {voice} -s 150"

// Utterance is one text handed to the speech command.
type Utterance struct {
	Lang string    `json:"lang"`
	Text string    `json:"text"`
	Argv []string  `json:"argv"`
	At   time.Time `json:"at"`
	// Err is set when the command could not run (e.g. espeak-ng is not
	// installed); the utterance is still recorded.
	Err string `json:"err,omitempty"`
}

// Speaker runs the speech command, one utterance at a time; a new one
// cuts off the one still playing, as a screen change makes it stale.
type Speaker struct {
	template []string
	log      *slog.Logger

	mu      sync.Mutex
	next    *Utterance
	wake    chan struct{}
	cancel  context.CancelFunc
	history []Utterance
	missing bool
}

// maxHistory bounds the utterances kept for Spoken.
const maxHistory = 100

// NewSpeaker parses command (fields split at spaces, {voice} replaced).
func NewSpeaker(command string, log *slog.Logger) (*Speaker, error) {
	argv := strings.Fields(command)
	if len(argv) == 0 {
		return nil, errors.New("speech-command is empty")
	}
	if log == nil {
		log = slog.Default()
	}
	return &Speaker{template: argv, log: log, wake: make(chan struct{}, 1)}, nil
}

// Argv is the command line for lang.
func (s *Speaker) Argv(lang string) []string {
	voice := text(lang, "voice")
	out := make([]string, len(s.template))
	for i, a := range s.template {
		out[i] = strings.ReplaceAll(a, "{voice}", voice)
	}
	return out
}

// Say queues text in lang, replacing what is queued and stopping what
// is playing.
func (s *Speaker) Say(lang, text string) {
	text = strings.TrimSpace(text)
	if text == "" {
		return
	}
	u := &Utterance{Lang: lang, Text: text, Argv: s.Argv(lang), At: time.Now()}
	s.mu.Lock()
	s.next = u
	if s.cancel != nil {
		s.cancel()
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Spoken returns the utterances handed to the command so far, oldest
// first.
func (s *Speaker) Spoken() []Utterance {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Utterance(nil), s.history...)
}

// Run speaks queued utterances until ctx ends.
func (s *Speaker) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		}
		s.mu.Lock()
		u := s.next
		s.next = nil
		uctx, cancel := context.WithCancel(ctx)
		s.cancel = cancel
		s.mu.Unlock()
		if u != nil {
			s.speak(uctx, u)
		}
		cancel()
	}
}

func (s *Speaker) speak(ctx context.Context, u *Utterance) {
	cmd := exec.CommandContext(ctx, u.Argv[0], u.Argv[1:]...)
	cmd.Stdin = strings.NewReader(u.Text)
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if err != nil && ctx.Err() == nil {
		u.Err = err.Error()
		var notFound *exec.Error
		s.mu.Lock()
		first := !s.missing
		if errors.As(err, &notFound) {
			s.missing = true
		}
		s.mu.Unlock()
		if first || !errors.As(err, &notFound) {
			s.log.Warn("speech command failed", "cmd", u.Argv[0], "err", err)
		}
	}
	s.mu.Lock()
	s.history = append(s.history, *u)
	if len(s.history) > maxHistory {
		s.history = s.history[len(s.history)-maxHistory:]
	}
	s.mu.Unlock()
}

// String describes the speaker for logs.
func (s *Speaker) String() string { return fmt.Sprintf("speech %q", strings.Join(s.template, " ")) }
