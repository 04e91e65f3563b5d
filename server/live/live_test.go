package live

import (
	"sync"
	"testing"
	"time"
)

func TestHubSignalsTheLocationsSubscribers(t *testing.T) {
	h := NewHub()
	a, stopA := h.Subscribe("amt")
	b, stopB := h.Subscribe("bad")
	defer stopB()
	h.Publish("amt")
	h.Publish("amt") // coalesced with the first
	select {
	case <-a:
	case <-time.After(time.Second):
		t.Fatal("subscriber of amt not signalled")
	}
	select {
	case <-a:
		t.Fatal("two changes before the signal was taken gave two signals")
	case <-b:
		t.Fatal("subscriber of bad signalled for amt")
	default:
	}
	h.Publish("")
	for name, c := range map[string]<-chan struct{}{"amt": a, "bad": b} {
		select {
		case <-c:
		case <-time.After(time.Second):
			t.Fatalf("%s not signalled by a change of every location", name)
		}
	}
	if v := h.Version("amt"); v != 3 {
		t.Fatalf("version of amt %d after two changes of it and one of all, want 3", v)
	}
	if v := h.Version("bad"); v != 1 {
		t.Fatalf("version of bad %d, want 1", v)
	}
	if n := h.Subscribers(); n != 2 {
		t.Fatalf("%d subscribers, want 2", n)
	}
	stopA()
	stopA() // twice is harmless
	if n := h.Subscribers(); n != 1 {
		t.Fatalf("%d subscribers after one ended, want 1", n)
	}
	h.Close()
	h.Close()
	select {
	case <-h.Done():
	default:
		t.Fatal("Done open after Close")
	}
	c, stop := h.Subscribe("amt")
	stop()
	h.Publish("amt")
	select {
	case <-c:
		t.Fatal("a subscription on a closed hub fired")
	default:
	}
}

func TestHubConcurrentUse(t *testing.T) {
	h := NewHub()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				_, stop := h.Subscribe("amt")
				stop()
			}
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				h.Publish("amt")
				h.Publish("")
			}
		}()
	}
	wg.Wait()
	if n := h.Subscribers(); n != 0 {
		t.Fatalf("%d subscribers left", n)
	}
}
