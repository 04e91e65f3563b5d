package paysim

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/digitale-verwaltung/termin/payment"
)

// notifyLocked queues a pushed notification for p according to the
// notification faults. The caller holds s.mu.
func (s *Server) notifyLocked(p *Payment, typ string) {
	nf := s.faults.Notify
	if !s.cfg.Extensions || !nf.Enabled || s.cfg.NotifyURL == "" {
		return
	}
	s.seq++
	body, err := json.Marshal(payment.Notification{
		EventID:    s.newID("ev"),
		PlatformID: p.ID,
		Reference:  p.Reference,
		Type:       typ,
		OccurredAt: s.cfg.Now().UTC(),
	})
	if err != nil {
		s.log.Error("marshal notification", "error", err)
		return
	}
	if nf.Lose {
		s.log.Info("notification lost (fault)", "id", p.ID, "type", typ)
		return
	}
	batch := [][]byte{body}
	if nf.Duplicate {
		batch = append(batch, body)
	}
	if nf.Reorder {
		if s.held == nil {
			s.held = body
			return
		}
		batch = append(batch, s.held)
		s.held = nil
	}
	s.wg.Add(1)
	go s.deliver(batch)
}

// deliver posts the notifications in order, once each; the simulator does
// not retry, which is what the lost-notification fault relies on anyway.
func (s *Server) deliver(batch [][]byte) {
	defer s.wg.Done()
	timeout := s.hc.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	for _, body := range batch {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.NotifyURL, bytes.NewReader(body))
		if err != nil {
			cancel()
			s.log.Error("build notification", "error", err)
			return
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(payment.SignatureHeader, payment.SignNotification(s.cfg.NotifySecret, body))
		resp, err := s.hc.Do(req)
		if err != nil {
			s.log.Warn("notification failed", "error", err)
		} else {
			resp.Body.Close()
		}
		cancel()
	}
}
