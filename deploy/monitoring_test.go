package deploy

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/digitale-verwaltung/termin/server/metrics"
)

// ruleFile is the Prometheus rule file format, decoded strictly.
type ruleFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Alert       string            `json:"alert"`
			Expr        string            `json:"expr"`
			For         string            `json:"for"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"rules"`
	} `json:"groups"`
}

var metricName = regexp.MustCompile(`\b(termin_[a-z_]+|go_[a-z_]+|process_[a-z_]+)`)

// exported reports whether name is a metric the server exports: a family
// name, or a histogram's _bucket, _count or _sum series.
func exported(names []string, name string) bool {
	if slices.Contains(names, name) {
		return true
	}
	for _, suffix := range []string{"_bucket", "_count", "_sum"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && slices.Contains(names, base) {
			return true
		}
	}
	return false
}

// TestMonitoringReferencesExportedMetrics: the alert rules decode strictly,
// each has a severity and a description, and every metric the rules and
// the Grafana dashboard query is one the server exports, so a renamed
// metric cannot leave an alert that never fires.
func TestMonitoringReferencesExportedMetrics(t *testing.T) {
	names := metrics.Names()
	data, err := os.ReadFile("monitoring/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rules ruleFile
	if err := yaml.UnmarshalStrict(data, &rules); err != nil {
		t.Fatalf("alerts.yaml: %v", err)
	}
	var exprs []string
	alerts := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			alerts++
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("alert %s needs a severity, a summary and a description", r.Alert)
			}
			exprs = append(exprs, r.Expr)
		}
	}
	for _, want := range []string{"TerminPaymentsStuck", "TerminOutboxLag", "TerminDeadLetters", "TerminDevicesOffline", "TerminErrorRate"} {
		if !strings.Contains(string(data), "alert: "+want) {
			t.Errorf("no alert %s", want)
		}
	}
	raw, err := os.ReadFile("monitoring/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			exprs = append(exprs, target.Expr)
		}
	}
	if alerts == 0 || len(dash.Panels) == 0 {
		t.Fatal("no alerts or no panels")
	}
	for _, e := range exprs {
		for _, m := range metricName.FindAllString(e, -1) {
			if !exported(names, m) {
				t.Errorf("%q queries %s, which the server does not export", e, m)
			}
		}
	}
}
