package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/digitale-verwaltung/termin/server/config"
)

// The custom resources of the operators termin runs on, as far as the
// manifests use them. Decoding is strict, so a field that is not listed
// here (a typo, or the deprecated in-tree spec.backup.barmanObjectStore)
// fails the test; the fields follow the operators' CRD references
// (CloudNativePG postgresql.cnpg.io/v1, its Barman Cloud plugin
// barmancloud.cnpg.io/v1, OT-Container-Kit redis.redis.opstreelabs.in/v1beta2).
type (
	cnpgCluster struct {
		metav1.TypeMeta   `json:",inline"`
		metav1.ObjectMeta `json:"metadata"`
		Spec              struct {
			Instances             int    `json:"instances"`
			ImageName             string `json:"imageName"`
			PrimaryUpdateStrategy string `json:"primaryUpdateStrategy"`
			PostgreSQL            struct {
				Synchronous *struct {
					Method         string `json:"method"`
					Number         int    `json:"number"`
					DataDurability string `json:"dataDurability"`
				} `json:"synchronous"`
				Parameters map[string]string `json:"parameters"`
			} `json:"postgresql"`
			Bootstrap struct {
				InitDB struct {
					Database string `json:"database"`
					Owner    string `json:"owner"`
				} `json:"initdb"`
			} `json:"bootstrap"`
			Storage    struct{ Size string } `json:"storage"`
			WALStorage struct{ Size string } `json:"walStorage"`
			Affinity   struct {
				EnablePodAntiAffinity bool   `json:"enablePodAntiAffinity"`
				TopologyKey           string `json:"topologyKey"`
			} `json:"affinity"`
			Resources corev1.ResourceRequirements `json:"resources"`
			Plugins   []struct {
				Name          string            `json:"name"`
				IsWALArchiver bool              `json:"isWALArchiver"`
				Parameters    map[string]string `json:"parameters"`
			} `json:"plugins"`
		} `json:"spec"`
	}
	secretKeyRef struct {
		Name string `json:"name"`
		Key  string `json:"key"`
	}
	barmanObjectStore struct {
		metav1.TypeMeta   `json:",inline"`
		metav1.ObjectMeta `json:"metadata"`
		Spec              struct {
			RetentionPolicy string `json:"retentionPolicy"`
			Configuration   struct {
				DestinationPath string `json:"destinationPath"`
				EndpointURL     string `json:"endpointURL"`
				S3Credentials   struct {
					AccessKeyID     secretKeyRef `json:"accessKeyId"`
					SecretAccessKey secretKeyRef `json:"secretAccessKey"`
				} `json:"s3Credentials"`
				WAL  struct{ Compression string } `json:"wal"`
				Data struct{ Compression string } `json:"data"`
			} `json:"configuration"`
		} `json:"spec"`
	}
	cnpgScheduledBackup struct {
		metav1.TypeMeta   `json:",inline"`
		metav1.ObjectMeta `json:"metadata"`
		Spec              struct {
			Schedule             string `json:"schedule"`
			BackupOwnerReference string `json:"backupOwnerReference"`
			Cluster              struct {
				Name string `json:"name"`
			} `json:"cluster"`
			Method              string `json:"method"`
			PluginConfiguration struct {
				Name string `json:"name"`
			} `json:"pluginConfiguration"`
		} `json:"spec"`
	}
	redisCluster struct {
		metav1.TypeMeta   `json:",inline"`
		metav1.ObjectMeta `json:"metadata"`
		Spec              struct {
			ClusterSize        int    `json:"clusterSize"`
			ClusterVersion     string `json:"clusterVersion"`
			PersistenceEnabled bool   `json:"persistenceEnabled"`
			KubernetesConfig   struct {
				Image           string                      `json:"image"`
				ImagePullPolicy string                      `json:"imagePullPolicy"`
				Resources       corev1.ResourceRequirements `json:"resources"`
			} `json:"kubernetesConfig"`
			RedisLeader   struct{ Replicas int } `json:"redisLeader"`
			RedisFollower struct{ Replicas int } `json:"redisFollower"`
			Storage       struct {
				VolumeClaimTemplate struct {
					Spec corev1.PersistentVolumeClaimSpec `json:"spec"`
				} `json:"volumeClaimTemplate"`
			} `json:"storage"`
		} `json:"spec"`
	}
	kustomization struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Namespace  string `json:"namespace"`
		Labels     []struct {
			Pairs map[string]string `json:"pairs"`
		} `json:"labels"`
		Resources          []string    `json:"resources"`
		ConfigMapGenerator []generator `json:"configMapGenerator"`
		SecretGenerator    []generator `json:"secretGenerator"`
		Images             []struct {
			Name    string `json:"name"`
			NewName string `json:"newName"`
			NewTag  string `json:"newTag"`
		} `json:"images"`
		Patches []struct {
			Path   string `json:"path"`
			Patch  string `json:"patch"`
			Target *struct {
				Group string `json:"group"`
				Kind  string `json:"kind"`
				Name  string `json:"name"`
			} `json:"target"`
		} `json:"patches"`
	}
	generator struct {
		Name     string   `json:"name"`
		Behavior string   `json:"behavior"`
		Literals []string `json:"literals"`
	}
	jsonPatchOp struct {
		Op    string `json:"op"`
		Path  string `json:"path"`
		Value any    `json:"value"`
	}
)

// manifestObject is one YAML document of a manifest file.
type manifestObject struct {
	file, kind, name string
	deleted          bool // a "$patch: delete" document
	raw              []byte
	decoded          any
}

// readManifests decodes every document of every YAML file under dir
// strictly into its type; a kind without a type fails.
func readManifests(t *testing.T, dir string) []manifestObject {
	t.Helper()
	var out []manifestObject
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) == 0 {
		t.Fatalf("no manifests in %s", dir)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range bytes.Split(data, []byte("\n---\n")) {
			var head struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Name string `json:"name"`
				} `json:"metadata"`
				Patch string `json:"$patch"`
			}
			if err := yaml.Unmarshal(doc, &head); err != nil {
				t.Errorf("%s document %d: %v", f, i+1, err)
				continue
			}
			if head.Kind == "" {
				t.Errorf("%s document %d has no kind", f, i+1)
				continue
			}
			o := manifestObject{file: f, kind: head.Kind, name: head.Metadata.Name, raw: doc}
			if head.Patch != "" {
				if head.Patch != "delete" {
					t.Errorf("%s: $patch %q, want delete", f, head.Patch)
				}
				o.deleted = true
				doc = bytes.Replace(doc, []byte("$patch: delete\n"), nil, 1)
			}
			o.decoded = newOfKind(head.Kind)
			if o.decoded == nil {
				t.Errorf("%s: kind %s has no type in this test: add one", f, head.Kind)
				continue
			}
			if err := yaml.UnmarshalStrict(doc, o.decoded); err != nil {
				t.Errorf("%s: %s %s: %v", f, head.Kind, head.Metadata.Name, err)
				continue
			}
			out = append(out, o)
		}
	}
	return out
}

func newOfKind(kind string) any {
	switch kind {
	case "Deployment":
		return &appsv1.Deployment{}
	case "Service":
		return &corev1.Service{}
	case "PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}
	case "HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}
	case "NetworkPolicy":
		return &networkingv1.NetworkPolicy{}
	case "Ingress":
		return &networkingv1.Ingress{}
	case "Cluster":
		return &cnpgCluster{}
	case "ObjectStore":
		return &barmanObjectStore{}
	case "ScheduledBackup":
		return &cnpgScheduledBackup{}
	case "RedisCluster":
		return &redisCluster{}
	case "Kustomization":
		return &kustomization{}
	}
	return nil
}

// find returns the one object of that kind and name, or nil.
func find[T any](objs []manifestObject, kind, name string) *T {
	for _, o := range objs {
		if o.kind == kind && o.name == name && !o.deleted {
			if v, ok := o.decoded.(*T); ok {
				return v
			}
		}
	}
	return nil
}

func kustomizationOf(t *testing.T, objs []manifestObject) *kustomization {
	t.Helper()
	for _, o := range objs {
		if k, ok := o.decoded.(*kustomization); ok {
			return k
		}
	}
	t.Fatal("no kustomization.yaml")
	return nil
}

// serverReads lists every environment variable the server's configuration
// loader looks at: the real list, not one kept by hand.
func serverReads(t *testing.T) []string {
	t.Helper()
	var names []string
	config.Load(nil, func(name string) (string, bool) {
		names = append(names, name)
		return "", false
	})
	slices.Sort(names)
	return slices.Compact(names)
}

// literals turns generator literals into a map.
func literals(t *testing.T, gens []generator, name string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, g := range gens {
		if g.Name != name {
			continue
		}
		for _, l := range g.Literals {
			k, v, ok := strings.Cut(l, "=")
			if !ok {
				t.Errorf("generator %s: literal %q without =", name, l)
			}
			out[k] = v
		}
	}
	return out
}

// overlay is the server's view of one deployment: its environment, its
// mounted secrets (mount path -> secret name) and which secrets exist.
type overlay struct {
	name    string
	env     map[string]string
	mounts  map[string]string
	secrets map[string][]string // secret name -> keys, nil keys: created outside
}

// TestKubernetesManifests: every manifest of the kustomize base and its
// overlays decodes strictly into its Kubernetes or operator type, and the
// wiring holds: names and selectors meet, ports and probes point at the
// server's port, every environment variable is one the server reads and
// the whole environment loads, every *_FILE variable names a key of a
// mounted secret that the overlay generates or the operator creates, the
// database runs three synchronous instances with backups through the
// Barman Cloud plugin, and the Redis seeds name the cluster's leaders.
func TestKubernetesManifests(t *testing.T) {
	base := readManifests(t, "k8s/base")
	reads := serverReads(t)
	k := kustomizationOf(t, base)
	for _, r := range k.Resources {
		if _, err := os.Stat(filepath.Join("k8s/base", r)); err != nil {
			t.Errorf("base resource %s: %v", r, err)
		}
	}

	dep := find[appsv1.Deployment](base, "Deployment", "termin-server")
	if dep == nil {
		t.Fatal("no Deployment termin-server")
	}
	podLabels := dep.Spec.Template.Labels
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas < 2 {
		t.Errorf("server replicas %v, want at least 2", dep.Spec.Replicas)
	}
	if !labelsMatch(dep.Spec.Selector.MatchLabels, podLabels) {
		t.Errorf("deployment selector %v does not select its pods %v", dep.Spec.Selector.MatchLabels, podLabels)
	}
	var server *corev1.Container
	for i, c := range dep.Spec.Template.Spec.Containers {
		if c.Name == "server" {
			server = &dep.Spec.Template.Spec.Containers[i]
		}
	}
	if server == nil {
		t.Fatal("no container server")
	}
	port := containerPort(server, "http")
	if port != 8080 {
		t.Errorf("container port http = %d, want 8080", port)
	}
	for probe, want := range map[*corev1.Probe]string{server.LivenessProbe: "/healthz", server.ReadinessProbe: "/readyz", server.StartupProbe: "/healthz"} {
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != want || probe.HTTPGet.Port.String() != "http" {
			t.Errorf("probe %+v, want GET %s on port http", probe, want)
		}
	}
	if dep.Spec.Template.Spec.SecurityContext == nil || dep.Spec.Template.Spec.SecurityContext.RunAsNonRoot == nil || !*dep.Spec.Template.Spec.SecurityContext.RunAsNonRoot {
		t.Error("the server pod must run as non-root")
	}
	if len(dep.Spec.Template.Spec.InitContainers) != 1 || !slices.Equal(dep.Spec.Template.Spec.InitContainers[0].Args, []string{"migrate"}) {
		t.Error("want one init container running the migrations")
	}

	svc := find[corev1.Service](base, "Service", "termin-server")
	if svc == nil || !labelsMatch(svc.Spec.Selector, podLabels) || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.String() != "http" {
		t.Errorf("service termin-server must select the server pods and target port http: %+v", svc)
	}
	pdb := find[policyv1.PodDisruptionBudget](base, "PodDisruptionBudget", "termin-server")
	if pdb == nil || !labelsMatch(pdb.Spec.Selector.MatchLabels, podLabels) || pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() < 1 {
		t.Errorf("pod disruption budget must keep a server pod: %+v", pdb)
	}
	hpa := find[autoscalingv2.HorizontalPodAutoscaler](base, "HorizontalPodAutoscaler", "termin-server")
	if hpa == nil || hpa.Spec.ScaleTargetRef.Name != dep.Name || hpa.Spec.ScaleTargetRef.Kind != "Deployment" || hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas < 2 {
		t.Errorf("autoscaler must scale the server deployment from 2: %+v", hpa)
	}

	db := find[cnpgCluster](base, "Cluster", "termin-db")
	if db == nil {
		t.Fatal("no CloudNativePG Cluster termin-db")
	}
	if db.Spec.Instances != 3 || db.Spec.PostgreSQL.Synchronous == nil || db.Spec.PostgreSQL.Synchronous.Number < 1 {
		t.Errorf("database: %d instances, synchronous %+v; want 3 with a synchronous standby", db.Spec.Instances, db.Spec.PostgreSQL.Synchronous)
	}
	store := ""
	for _, p := range db.Spec.Plugins {
		if p.Name == "barman-cloud.cloudnative-pg.io" && p.IsWALArchiver {
			store = p.Parameters["barmanObjectName"]
		}
	}
	if find[barmanObjectStore](base, "ObjectStore", store) == nil {
		t.Errorf("the Barman Cloud plugin's object store %q is not defined", store)
	}
	backup := find[cnpgScheduledBackup](base, "ScheduledBackup", "termin-db-nightly")
	if backup == nil || backup.Spec.Cluster.Name != db.Name || backup.Spec.Method != "plugin" {
		t.Errorf("nightly backup of %s through the plugin: %+v", db.Name, backup)
	}

	redis := find[redisCluster](base, "RedisCluster", "termin-redis")
	if redis == nil || redis.Spec.ClusterSize < 3 || redis.Spec.RedisFollower.Replicas < 1 {
		t.Fatalf("want a Redis Cluster termin-redis of 3 leaders with followers: %+v", redis)
	}
	var seeds []string
	for i := range redis.Spec.ClusterSize {
		seeds = append(seeds, fmt.Sprintf("%[1]s-leader-%[2]d.%[1]s-leader-headless:6379", redis.Name, i))
	}
	baseEnv := literals(t, k.ConfigMapGenerator, "termin-config")
	if baseEnv["REDIS_ADDR"] != strings.Join(seeds, ",") {
		t.Errorf("REDIS_ADDR %q, want the leaders %q", baseEnv["REDIS_ADDR"], strings.Join(seeds, ","))
	}

	checkNetworkPolicies(t, base, podLabels, db.Name, redis.Name)

	for _, name := range []string{"demo", "production"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("k8s/overlays", name)
			objs := readManifests(t, dir)
			ok := kustomizationOf(t, objs)
			checkOverlayFiles(t, dir, ok)
			o := overlay{name: name, env: map[string]string{}, mounts: map[string]string{}, secrets: map[string][]string{
				db.Name + "-app": {"uri", "password", "username", "host", "port", "dbname"}, // made by CloudNativePG
			}}
			for k, v := range baseEnv {
				o.env[k] = v
			}
			for k, v := range literals(t, ok.ConfigMapGenerator, "termin-config") {
				o.env[k] = v
			}
			for _, g := range ok.SecretGenerator {
				for k := range literals(t, ok.SecretGenerator, g.Name) {
					o.secrets[g.Name] = append(o.secrets[g.Name], k)
				}
			}
			if name == "production" {
				// Created by the city before applying, as the overlay's
				// kustomization.yaml says.
				raw, _ := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
				for _, s := range []string{"termin-secrets", "termin-payment", "termin-backup-s3"} {
					if !bytes.Contains(raw, []byte(s)) {
						t.Errorf("production kustomization.yaml must name the secret %s it expects", s)
					}
					o.secrets[s] = nil
				}
			}
			o.addPod(dep.Spec.Template.Spec, "server")
			if patch := find[appsv1.Deployment](objs, "Deployment", "termin-server"); patch != nil {
				o.addPod(patch.Spec.Template.Spec, "server")
			}
			o.check(t, reads)
		})
	}
}

// addPod adds a pod template's server environment and secret mounts.
func (o *overlay) addPod(spec corev1.PodSpec, container string) {
	volumes := map[string]string{}
	for _, v := range spec.Volumes {
		if v.Secret != nil {
			volumes[v.Name] = v.Secret.SecretName
		}
	}
	for _, c := range spec.Containers {
		if c.Name != container {
			continue
		}
		for _, e := range c.Env {
			o.env[e.Name] = e.Value
		}
		for _, m := range c.VolumeMounts {
			if s, ok := volumes[m.Name]; ok {
				o.mounts[m.MountPath] = s
			}
		}
	}
}

// check: every variable is one the server reads, every file variable
// names a key of a mounted, existing secret, and the environment loads.
func (o *overlay) check(t *testing.T, reads []string) {
	t.Helper()
	env := map[string]string{}
	dir := t.TempDir()
	for name, value := range o.env {
		if !slices.Contains(reads, name) {
			t.Errorf("%s is set but the server does not read it", name)
			continue
		}
		env[name] = value
		if !strings.HasSuffix(name, "_FILE") {
			continue
		}
		secret, ok := o.mounts[filepath.Dir(value)]
		if !ok {
			t.Errorf("%s=%s: no secret is mounted at %s", name, value, filepath.Dir(value))
			continue
		}
		keys, exists := o.secrets[secret]
		if !exists {
			t.Errorf("%s: secret %s is neither generated nor created by an operator or the city", name, secret)
		} else if keys != nil && !slices.Contains(keys, filepath.Base(value)) {
			t.Errorf("%s: secret %s has no key %s (keys %v)", name, secret, filepath.Base(value), keys)
		}
		// The loader reads the file: give it one with a plausible value.
		f := filepath.Join(dir, strings.ToLower(name))
		v := "a-secret"
		if name == "DATABASE_URL_FILE" {
			v = "postgres://termin:x@termin-db-rw:5432/termin?sslmode=require"
		}
		os.WriteFile(f, []byte(v+"\n"), 0o600)
		env[name] = f
	}
	if _, err := config.Load(nil, func(name string) (string, bool) { v, ok := env[name]; return v, ok }); err != nil {
		t.Errorf("the %s environment does not load: %v", o.name, err)
	}
}

// checkOverlayFiles: the overlay's resources and patch files exist, and
// every inline JSON patch decodes strictly and targets paths that exist.
func checkOverlayFiles(t *testing.T, dir string, k *kustomization) {
	t.Helper()
	for _, r := range k.Resources {
		if _, err := os.Stat(filepath.Join(dir, r)); err != nil {
			t.Errorf("resource %s: %v", r, err)
		}
	}
	base := readManifests(t, "k8s/base")
	for _, p := range k.Patches {
		if p.Path != "" {
			if _, err := os.Stat(filepath.Join(dir, p.Path)); err != nil {
				t.Errorf("patch %s: %v", p.Path, err)
			}
			continue
		}
		if p.Target == nil {
			t.Errorf("inline patch without target")
			continue
		}
		var ops []jsonPatchOp
		if err := yaml.UnmarshalStrict([]byte(p.Patch), &ops); err != nil {
			t.Errorf("inline patch of %s %s: %v", p.Target.Kind, p.Target.Name, err)
			continue
		}
		var target []byte
		for _, o := range base {
			if o.kind == p.Target.Kind && o.name == p.Target.Name {
				target, _ = yaml.YAMLToJSON(o.raw)
			}
		}
		if target == nil {
			t.Errorf("patch target %s %s is not in the base", p.Target.Kind, p.Target.Name)
			continue
		}
		var doc any
		json.Unmarshal(target, &doc)
		for _, op := range ops {
			if (op.Op == "replace" || op.Op == "remove") && !pathExists(doc, op.Path) {
				t.Errorf("patch of %s: %s %s: no such path in the base", p.Target.Name, op.Op, op.Path)
			}
		}
	}
}

// pathExists follows a JSON pointer of object keys through doc.
func pathExists(doc any, pointer string) bool {
	for _, part := range strings.Split(strings.TrimPrefix(pointer, "/"), "/") {
		m, ok := doc.(map[string]any)
		if !ok {
			return false
		}
		if doc, ok = m[part]; !ok {
			return false
		}
	}
	return true
}

// checkNetworkPolicies: the server's policy selects the server pods and
// lets them reach the database and Redis pods by the labels the operators
// give them, and those take the server's connections.
func checkNetworkPolicies(t *testing.T, objs []manifestObject, server map[string]string, db, redis string) {
	t.Helper()
	pol := find[networkingv1.NetworkPolicy](objs, "NetworkPolicy", "termin-server")
	if pol == nil || !labelsMatch(pol.Spec.PodSelector.MatchLabels, server) {
		t.Fatal("no network policy for the server pods")
	}
	reaches := func(labels map[string]string, port int) bool {
		for _, e := range pol.Spec.Egress {
			for _, to := range e.To {
				if to.PodSelector == nil || !labelsMatch(to.PodSelector.MatchLabels, labels) {
					continue
				}
				for _, p := range e.Ports {
					if p.Port.IntValue() == port {
						return true
					}
				}
			}
		}
		return false
	}
	if !reaches(map[string]string{"cnpg.io/cluster": db}, 5432) {
		t.Errorf("the server may not reach PostgreSQL %s on 5432", db)
	}
	if !reaches(map[string]string{"app": redis + "-leader"}, 6379) || !reaches(map[string]string{"app": redis + "-follower"}, 6379) {
		t.Errorf("the server may not reach the Redis leaders and followers of %s on 6379", redis)
	}
	for _, name := range []string{"termin-db", "termin-redis"} {
		p := find[networkingv1.NetworkPolicy](objs, "NetworkPolicy", name)
		if p == nil {
			t.Errorf("no network policy %s", name)
			continue
		}
		admitted := false
		for _, in := range p.Spec.Ingress {
			for _, from := range in.From {
				if from.PodSelector != nil && labelsMatch(from.PodSelector.MatchLabels, server) {
					admitted = true
				}
			}
		}
		if !admitted {
			t.Errorf("%s does not admit the server pods", name)
		}
	}
}

// labelsMatch reports whether a selector's labels are all on the object.
func labelsMatch(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func containerPort(c *corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}
