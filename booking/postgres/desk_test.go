package postgres_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/digitale-verwaltung/termin/booking"
	bookingpg "github.com/digitale-verwaltung/termin/booking/postgres"
)

// addService gives the office a second service, to transfer to.
func (o *office) addService(t *testing.T, id string) {
	t.Helper()
	ctx := context.Background()
	l, _, err := o.engine.Location(o.loc)
	if err != nil {
		t.Fatal(err)
	}
	svcs, err := o.engine.Services(o.loc)
	if err != nil {
		t.Fatal(err)
	}
	svcs = append(svcs, booking.Service{ID: id, LocationID: o.loc, Name: "Reisepass", DurationMinutes: 20, Payment: booking.PayCounter, MaxUnits: 1})
	if err := o.store.SaveCatalog(ctx, []booking.Location{*l}, svcs); err != nil {
		t.Fatal(err)
	}
	if err := o.engine.Reload(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestDeskActions: recall, transfer, served and no-show, with the
// timestamps statistics read and the refusals of the wrong state.
func TestDeskActions(t *testing.T) {
	o := newOffice(t)
	ctx := context.Background()
	pass := o.loc + "-pass"
	o.addService(t, pass)
	a1, _ := o.queue.WalkIn(ctx, o.loc, o.svc)
	a2, _ := o.queue.WalkIn(ctx, o.loc, o.svc)
	a3, err := o.queue.WalkIn(ctx, o.loc, o.svc)
	if err != nil {
		t.Fatal(err)
	}

	c1, err := o.queue.CallNext(ctx, o.loc, "1")
	if err != nil || c1.ID != a1.ID || c1.CalledAt == nil || c1.LastCalledAt == nil || !c1.CalledAt.Equal(*c1.LastCalledAt) {
		t.Fatalf("call: %+v %v", c1, err)
	}
	time.Sleep(10 * time.Millisecond)
	r1, err := o.queue.Recall(ctx, o.loc, a1.ID, "1")
	if err != nil || r1.Recalls != 1 || r1.State != booking.QueueCalled || !r1.CalledAt.Equal(*c1.CalledAt) || !r1.LastCalledAt.After(*c1.LastCalledAt) {
		t.Fatalf("recall: %+v %v", r1, err)
	}
	// The recalled number is on top of the list again.
	c2, _ := o.queue.CallNext(ctx, o.loc, "2")
	if c2.ID != a2.ID {
		t.Fatalf("second call got %s, want %s", c2.Number, a2.Number)
	}
	time.Sleep(10 * time.Millisecond)
	if _, err := o.queue.Recall(ctx, o.loc, a1.ID, "1"); err != nil {
		t.Fatal(err)
	}
	ts, _ := o.queue.Today(ctx, o.loc)
	if ts[0].Number != a1.Number || ts[1].Number != a2.Number || ts[2].Number != a3.Number {
		t.Fatalf("order after a recall: %s %s %s", ts[0].Number, ts[1].Number, ts[2].Number)
	}

	// A1 is transferred: it waits again with its number, before A3 who
	// came later, with the other service.
	tr, err := o.queue.Transfer(ctx, o.loc, a1.ID, pass)
	if err != nil || tr.State != booking.QueueWaiting || tr.Number != a1.Number || *tr.ServiceID != pass ||
		tr.TransferredFrom == nil || *tr.TransferredFrom != o.svc || tr.Desk != nil || tr.CalledAt == nil {
		t.Fatalf("transfer: %+v %v", tr, err)
	}
	if pos, err := o.queue.Position(ctx, o.loc, a3.Number); err != nil || pos.Ahead != 1 {
		t.Fatalf("A3 after the transfer: %+v %v, want 1 ahead", pos, err)
	}
	if _, err := o.queue.Transfer(ctx, o.loc, a1.ID, pass); !errors.Is(err, booking.ErrTicketState) {
		t.Fatalf("transfer of a waiting ticket: %v", err)
	}
	if _, err := o.queue.Transfer(ctx, o.loc, a2.ID, o.svc); !errors.Is(err, booking.ErrTicketState) {
		t.Fatalf("transfer to its own service: %v", err)
	}
	if _, err := o.queue.Transfer(ctx, o.loc, a2.ID, "nowhere"); err == nil {
		t.Fatal("transfer to an unknown service")
	}
	again, err := o.queue.CallNext(ctx, o.loc, "3")
	if err != nil || again.ID != a1.ID || !again.CalledAt.Equal(*c1.CalledAt) || !again.LastCalledAt.After(*r1.LastCalledAt) {
		t.Fatalf("call after the transfer: %+v %v", again, err)
	}

	served, err := o.queue.Finish(ctx, o.loc, a1.ID, booking.QueueServed)
	if err != nil || served.State != booking.QueueServed || served.FinishedAt == nil {
		t.Fatalf("served: %+v %v", served, err)
	}
	noShow, err := o.queue.Finish(ctx, o.loc, a2.ID, booking.QueueNoShow)
	if err != nil || noShow.State != booking.QueueNoShow || noShow.FinishedAt == nil {
		t.Fatalf("no-show: %+v %v", noShow, err)
	}
	for name, err := range map[string]error{
		"recall of a served ticket":  errOf(o.queue.Recall(ctx, o.loc, a1.ID, "1")),
		"recall of a waiting ticket": errOf(o.queue.Recall(ctx, o.loc, a3.ID, "1")),
		"no-show of a served ticket": errOf(o.queue.Finish(ctx, o.loc, a1.ID, booking.QueueNoShow)),
	} {
		if !errors.Is(err, booking.ErrTicketState) {
			t.Errorf("%s: %v, want ErrTicketState", name, err)
		}
	}
	if _, err := o.queue.Recall(ctx, o.loc, 1<<40, "1"); !errors.Is(err, booking.ErrTicketNotFound) {
		t.Errorf("recall of no ticket: %v", err)
	}
	if _, err := o.queue.Recall(ctx, "nowhere", a1.ID, "1"); !errors.Is(err, booking.ErrLocationUnknown) {
		t.Errorf("recall at no location: %v", err)
	}
}

func errOf(_ *booking.QueueTicket, err error) error { return err }

// TestConcurrentCallsFromTwoDesks: desks calling at the same moment, on
// their own connections, never get the same ticket, and every waiting
// ticket is called once.
func TestConcurrentCallsFromTwoDesks(t *testing.T) {
	o := newOffice(t)
	ctx := context.Background()
	const tickets = 40
	for range tickets {
		if _, err := o.queue.WalkIn(ctx, o.loc, o.svc); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	called := map[int64]string{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, desk := range []string{"1", "2"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for {
				tk, err := o.queue.CallNext(ctx, o.loc, desk)
				if errors.Is(err, booking.ErrQueueEmpty) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if prev, ok := called[tk.ID]; ok {
					t.Errorf("%s called to desk %s and desk %s", tk.Number, prev, desk)
				}
				called[tk.ID] = desk
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(called) != tickets {
		t.Fatalf("%d tickets called, want %d", len(called), tickets)
	}
}

// TestQueueNotifications: every committed queue change is announced on
// QueueChannel with the location's id; ListenQueue hears it.
func TestQueueNotifications(t *testing.T) {
	o := newOffice(t)
	ctx, cancel := context.WithCancel(context.Background())
	heard := make(chan string, 16)
	done := make(chan error, 1)
	go func() {
		done <- bookingpg.ListenQueue(ctx, o.dsn, slog.New(slog.NewTextHandler(io.Discard, nil)), func(loc string) { heard <- loc })
	}()
	expect := func(what string) {
		t.Helper()
		select {
		case loc := <-heard:
			if loc != o.loc {
				t.Fatalf("%s: heard %q, want %q", what, loc, o.loc)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("%s: no notification", what)
		}
	}
	// The listener connects in the background; a ticket drawn before it
	// listens would go unheard, so wait until one is heard.
	deadline := time.Now().Add(5 * time.Second)
	for heardOne := false; !heardOne; {
		if _, err := o.queue.WalkIn(context.Background(), o.loc, o.svc); err != nil {
			t.Fatal(err)
		}
		select {
		case <-heard:
			heardOne = true
		case <-time.After(200 * time.Millisecond):
			if time.Now().After(deadline) {
				t.Fatal("the listener never heard a ticket drawn")
			}
		}
	}
	for len(heard) > 0 {
		<-heard
	}
	bg := context.Background()
	a, err := o.queue.CallNext(bg, o.loc, "1")
	if err != nil {
		t.Fatal(err)
	}
	expect("call")
	if _, err := o.queue.Recall(bg, o.loc, a.ID, "1"); err != nil {
		t.Fatal(err)
	}
	expect("recall")
	if _, err := o.queue.Finish(bg, o.loc, a.ID, booking.QueueServed); err != nil {
		t.Fatal(err)
	}
	expect("finish")
	// A refused change announces nothing.
	if _, err := o.queue.Recall(bg, o.loc, a.ID, "1"); !errors.Is(err, booking.ErrTicketState) {
		t.Fatal(err)
	}
	select {
	case loc := <-heard:
		t.Fatalf("a refused recall was announced (%s)", loc)
	case <-time.After(300 * time.Millisecond):
	}

	// The connection is lost (the server ends it, as a network loss
	// would): the listener reconnects by itself, says that changes may
	// have been missed, and hears the next change.
	db, err := sqlx.Open("postgres", o.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ended int
	if err := db.Get(&ended, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN%'`); err != nil || ended != 1 {
		t.Fatalf("ended %d listening connections: %v", ended, err)
	}
	select {
	case loc := <-heard:
		if loc != "" {
			t.Fatalf("after the reconnect heard %q, want \"\" (every location)", loc)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the listener did not reconnect")
	}
	if _, err := o.queue.WalkIn(bg, o.loc, o.svc); err != nil {
		t.Fatal(err)
	}
	expect("a ticket drawn after the reconnect")

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("ListenQueue did not end with its context")
	}
}

// TestListenQueueEndsWithoutDatabase: a listener that cannot connect
// still ends with its context.
func TestListenQueueEndsWithoutDatabase(t *testing.T) {
	if os.Getenv("DATABASE_URL") == "" && os.Getenv("TERMIN_REQUIRE_SERVICES") == "" {
		t.Skip("DATABASE_URL not set")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- bookingpg.ListenQueue(ctx, "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1",
			slog.New(slog.NewTextHandler(io.Discard, nil)), func(string) {})
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("ListenQueue without a database did not end with its context")
	}
}

// TestBoardAgreesWithPosition: the live pages' board counts the people
// ahead and the wait as the ticket page's Position does, appointments
// first.
func TestBoardAgreesWithPosition(t *testing.T) {
	o := newOffice(t)
	ctx := context.Background()
	for range 3 {
		if _, err := o.queue.WalkIn(ctx, o.loc, o.svc); err != nil {
			t.Fatal(err)
		}
	}
	b := o.book(t, 10, 0)
	if _, err := o.queue.CheckIn(ctx, o.loc, b.Code); err != nil {
		t.Fatal(err)
	}
	if _, err := o.queue.CallNext(ctx, o.loc, "1"); err != nil {
		t.Fatal(err)
	}
	board, err := o.queue.Board(ctx, o.loc)
	if err != nil {
		t.Fatal(err)
	}
	if len(board) != 4 || board[0].Number != "T001" || board[0].State != booking.QueueCalled {
		t.Fatalf("board %+v", board)
	}
	for i, tk := range board[1:] {
		pos, err := o.queue.Position(ctx, o.loc, tk.Number)
		if err != nil {
			t.Fatal(err)
		}
		if tk.Ahead != i || pos.Ahead != tk.Ahead || pos.EstimatedWait != tk.EstimatedWait {
			t.Fatalf("%s: board %d ahead, %v; position %d ahead, %v", tk.Number, tk.Ahead, tk.EstimatedWait, pos.Ahead, pos.EstimatedWait)
		}
	}
}
