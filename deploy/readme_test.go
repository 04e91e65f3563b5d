package deploy

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// shellBlocks returns the ```sh blocks of the README, line by line.
func shellBlocks(t *testing.T) [][]string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks [][]string
	var cur []string
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case !in && strings.HasPrefix(line, "```sh"):
			in, cur = true, nil
		case in && strings.HasPrefix(line, "```"):
			in = false
			blocks = append(blocks, cur)
		case in:
			cur = append(cur, line)
		}
	}
	return blocks
}

var (
	stackStart = regexp.MustCompile(`deploy/stack\.sh start (\S+)`)
	stackStop  = regexp.MustCompile(`deploy/stack\.sh stop (\S+)`)
)

// TestReadmeTestCommandsRunInsideTheirStack: a README block that starts
// private services runs its tests while they run, with the variables of
// their env file and TERMIN_REQUIRE_SERVICES=1, so a test that cannot
// reach them fails instead of skipping; none runs after the stop.
func TestReadmeTestCommandsRunInsideTheirStack(t *testing.T) {
	checked := 0
	for _, block := range shellBlocks(t) {
		dir, sourced, stopped := "", false, false
		for _, line := range block {
			if m := stackStart.FindStringSubmatch(line); m != nil {
				dir = m[1]
			}
			if dir != "" && strings.Contains(line, ". "+dir+"/env") {
				sourced = true
			}
			if m := stackStop.FindStringSubmatch(line); m != nil && m[1] == dir {
				stopped = true
			}
			if dir == "" || !strings.Contains(line, "go test") {
				continue
			}
			checked++
			switch {
			case stopped:
				t.Errorf("README: %q runs after `deploy/stack.sh stop %s`", line, dir)
			case !sourced:
				t.Errorf("README: %q runs before %s/env is read", line, dir)
			case !strings.Contains(line, "TERMIN_REQUIRE_SERVICES=1"):
				t.Errorf("README: %q would skip its service tests silently without TERMIN_REQUIRE_SERVICES=1", line)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no test command inside a stack block found in the README")
	}
}

// TestReadmeNextWorkingDay: the booking walk-through says "the next
// working day", and its command computes exactly that (Monday to Friday,
// from tomorrow on).
func TestReadmeNextWorkingDay(t *testing.T) {
	var script []string
	for _, block := range shellBlocks(t) {
		for _, line := range block {
			if strings.HasPrefix(line, "DAY=") || (len(script) > 0 && strings.HasPrefix(line, "while ")) {
				script = append(script, line)
			}
		}
		if len(script) > 0 {
			break
		}
	}
	if len(script) == 0 {
		t.Fatal("no DAY= command in the README")
	}
	out, err := exec.Command("bash", "-c", strings.Join(script, "\n")+"\necho \"$DAY\"").Output()
	if err != nil {
		t.Fatalf("%v: %s", err, strings.Join(script, "\n"))
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	day := time.Now().In(berlin).AddDate(0, 0, 1)
	for day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
		day = day.AddDate(0, 0, 1)
	}
	if got, want := strings.TrimSpace(string(out)), day.Format(time.DateOnly); got != want {
		t.Fatalf("README's DAY is %s, the next working day is %s", got, want)
	}
}

// TestReadmeStartsWithTheTwoCommands: the README opens with the two
// commands a newcomer needs, word for word.
func TestReadmeStartsWithTheTwoCommands(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	want := "# termin\n\n" +
		"    make run     # private PostgreSQL + Redis (+ Mailpit), migrations, demo city, server, simulators\n" +
		"    make test    # the same services, then every test, browser tests included\n"
	if !strings.HasPrefix(string(b), want) {
		t.Errorf("README.md must start with\n%s", want)
	}
}
