package main

import (
	"log/slog"
	"testing"
)

func TestPaymentConfig(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantAddr   string
		wantNotify string
		wantEnd    string
		wantErr    bool
	}{
		{name: "defaults", wantAddr: "127.0.0.1:8091", wantEnd: "07111000"},
		{name: "environment", env: map[string]string{"PAYSIM_ADDR": "127.0.0.1:9999", "NOTIFY_SECRET": "s", "PAYSIM_EXTENSIONS": "1", "HTTP_ADDR": "127.0.0.1:8181", "PAYMENT_ENDPOINT": "e1"},
			wantAddr: "127.0.0.1:9999", wantNotify: "http://127.0.0.1:8181/api/v1/payments/notifications", wantEnd: "e1"},
		{name: "flag over environment", args: []string{"-paysim-addr", "127.0.0.1:7000", "-public-url", "https://termin.example/"},
			env: map[string]string{"PAYSIM_ADDR": "127.0.0.1:9999", "NOTIFY_SECRET": "s", "PAYSIM_EXTENSIONS": "yes"}, wantAddr: "127.0.0.1:7000",
			wantNotify: "https://termin.example/api/v1/payments/notifications", wantEnd: "07111000"},
		{name: "empty variable is unset", env: map[string]string{"PAYSIM_ADDR": ""}, wantAddr: "127.0.0.1:8091", wantEnd: "07111000"},
		{name: "bad log level", env: map[string]string{"LOG_LEVEL": "loud"}, wantErr: true},
		{name: "stray argument", args: []string{"extra"}, wantErr: true},
		{name: "pushes need the extensions", env: map[string]string{"NOTIFY_SECRET": "s"}, wantAddr: "127.0.0.1:8091", wantEnd: "07111000"},
		{name: "client certificates need TLS", env: map[string]string{"PAYSIM_AUTH": "tls"}, wantErr: true},
		{name: "unknown auth", env: map[string]string{"PAYSIM_AUTH": "kerberos"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookup := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
			c, err := parsePaymentConfig(tt.args, lookup)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("no error for %+v", tt)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sc := c.simConfig(slog.Default())
			if c.Addr != tt.wantAddr || sc.NotifyURL != tt.wantNotify || sc.EndPointID != tt.wantEnd {
				t.Errorf("addr %q notify %q endpoint %q", c.Addr, sc.NotifyURL, sc.EndPointID)
			}
			if sc.BaseURL != "http://"+tt.wantAddr {
				t.Errorf("base URL %q", sc.BaseURL)
			}
		})
	}
}
