package deploy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/digitale-verwaltung/termin/server/config"
)

// composeFile is the part of the compose specification compose.yaml uses;
// decoding is strict, so a misspelt key fails.
type composeFile struct {
	Name     string                    `json:"name"`
	XServer  map[string]any            `json:"x-server"`
	Services map[string]composeService `json:"services"`
	Secrets  map[string]struct {
		File string `json:"file"`
	} `json:"secrets"`
	Volumes map[string]any `json:"volumes"`
}

type composeService struct {
	Image       string                       `json:"image"`
	Command     []string                     `json:"command"`
	Restart     string                       `json:"restart"`
	Profiles    []string                     `json:"profiles"`
	DependsOn   map[string]map[string]string `json:"depends_on"`
	Environment map[string]string            `json:"environment"`
	Secrets     []string                     `json:"secrets"`
	Ports       []string                     `json:"ports"`
	Volumes     []string                     `json:"volumes"`
	Healthcheck map[string]any               `json:"healthcheck"`
}

// TestComposeFile: compose.yaml decodes strictly; two server replicas run
// the server image after the migrations, with only variables the server
// reads, every *_FILE variable naming a declared secret whose file exists,
// and an environment that loads; Mailpit and the simulator are in the
// demo profile.
func TestComposeFile(t *testing.T) {
	data, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	reads := serverReads(t)
	for name, s := range c.Services {
		for _, secret := range s.Secrets {
			decl, ok := c.Secrets[secret]
			if !ok {
				t.Errorf("%s uses the undeclared secret %s", name, secret)
			} else if _, err := os.Stat(decl.File); err != nil {
				t.Errorf("secret %s: %v", secret, err)
			}
		}
	}
	replicas := 0
	for name, s := range c.Services {
		if !strings.HasPrefix(s.Image, "localhost/termin-server:") || !slices.Equal(s.Command, []string{"serve"}) {
			continue
		}
		replicas++
		if s.DependsOn["migrate"]["condition"] != "service_completed_successfully" {
			t.Errorf("%s must wait for the migrations", name)
		}
		env := map[string]string{}
		for k, v := range s.Environment {
			if !slices.Contains(reads, k) {
				t.Errorf("%s sets %s, which the server does not read", name, k)
			}
			env[k] = v
			if !strings.HasSuffix(k, "_FILE") {
				continue
			}
			secret := strings.TrimPrefix(v, "/run/secrets/")
			if !slices.Contains(s.Secrets, secret) {
				t.Errorf("%s: %s=%s is not one of its secrets %v", name, k, v, s.Secrets)
				continue
			}
			env[k] = filepath.Clean(c.Secrets[secret].File)
		}
		if _, err := config.Load(nil, func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
			t.Errorf("%s: the environment does not load: %v", name, err)
		}
	}
	if replicas < 2 {
		t.Errorf("%d server replicas, want 2", replicas)
	}
	for _, demo := range []string{"mailpit", "paysim"} {
		if !slices.Contains(c.Services[demo].Profiles, "demo") {
			t.Errorf("%s belongs in the demo profile", demo)
		}
	}
}
