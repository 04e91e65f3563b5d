package paysim

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
	"time"
)

// How the simulator's XBezahldienste authenticates callers (the standard
// leaves it open; each platform has its own).
const (
	AuthBasic  = "basic"  // HTTP basic auth with Username/Password (epay21)
	AuthOAuth2 = "oauth2" // Bearer tokens from POST /oauth/token, client credentials (pmPayment, GiroCheckout)
	AuthTLS    = "tls"    // a verified TLS client certificate (ePayBL); the listener must request one
)

// tokenLocked checks a Bearer token; the caller holds s.mu.
func (s *Server) tokenLocked(token string) bool {
	exp, ok := s.tokens[token]
	if !ok {
		return false
	}
	if s.cfg.Now().After(exp) {
		delete(s.tokens, token)
		return false
	}
	return true
}

// xbzAuthenticated checks the caller of an XBezahldienste route.
func (s *Server) xbzAuthenticated(r *http.Request) bool {
	switch s.cfg.XBZAuth {
	case AuthOAuth2:
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			return false
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.tokenLocked(strings.TrimSpace(token))
	case AuthTLS:
		return r.TLS != nil && len(r.TLS.VerifiedChains) > 0
	}
	if s.cfg.Username == "" {
		return true
	}
	u, p, ok := r.BasicAuth()
	return ok && subtle.ConstantTimeCompare([]byte(u), []byte(s.cfg.Username)) == 1 &&
		subtle.ConstantTimeCompare([]byte(p), []byte(s.cfg.Password)) == 1
}

// handleToken is an OAuth2 token endpoint for the client-credentials
// grant (RFC 6749 4.4): the client authenticates with basic auth or form
// fields and gets a Bearer token valid for TokenTTL.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if s.cfg.XBZAuth != AuthOAuth2 {
		http.NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if subtle.ConstantTimeCompare([]byte(id), []byte(s.cfg.OAuthClientID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(s.cfg.OAuthClientSecret)) != 1 {
		w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	ttl := s.cfg.TokenTTL
	if ttl <= 0 {
		ttl = 5 * time.Minute
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	token := hex.EncodeToString(b)
	s.mu.Lock()
	s.tokens[token] = s.cfg.Now().Add(ttl)
	s.tokensIssued++
	s.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"access_token": token, "token_type": "Bearer", "expires_in": int(ttl / time.Second)})
}

// TokensIssued counts the OAuth2 tokens handed out, so tests can see that
// clients cache them.
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokensIssued
}
