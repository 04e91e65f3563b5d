// Package mailwire adapts the booking record store and engine to what the
// mail worker needs. Neither domain imports the other (booking/postgres
// keeps booking.Event, mail has mail.Event); the server wires this.
package mailwire

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
	bookingpg "github.com/digitale-verwaltung/termin/booking/postgres"
	"github.com/digitale-verwaltung/termin/mail"
)

// BookingMail gives the mail worker the booking events and the booking data of a message.
type BookingMail struct {
	Store  *bookingpg.Store
	Engine *booking.Engine
}

var (
	_ mail.Events   = BookingMail{}
	_ mail.Bookings = BookingMail{}
)

func (a BookingMail) ClaimEvents(ctx context.Context, now time.Time, max int, lease time.Duration) ([]mail.Event, error) {
	evs, err := a.Store.ClaimEvents(ctx, now, max, lease)
	if err != nil {
		return nil, err
	}
	out := make([]mail.Event, len(evs))
	for i, e := range evs {
		out[i] = toMailEvent(e)
	}
	return out, nil
}

func (a BookingMail) EventDone(ctx context.Context, ev mail.Event, now time.Time) error {
	return leaseErr(a.Store.EventDone(ctx, toBookingEvent(ev), now))
}

func (a BookingMail) EventFailed(ctx context.Context, ev mail.Event, next time.Time, reason string) error {
	return leaseErr(a.Store.EventFailed(ctx, toBookingEvent(ev), next, reason))
}

func (a BookingMail) EventDead(ctx context.Context, ev mail.Event, now time.Time, reason string) error {
	return leaseErr(a.Store.EventDead(ctx, toBookingEvent(ev), now, reason))
}

func (a BookingMail) DeadEvents(ctx context.Context, max int) ([]mail.Event, error) {
	evs, err := a.Store.DeadEvents(ctx, max)
	if err != nil {
		return nil, err
	}
	out := make([]mail.Event, len(evs))
	for i, e := range evs {
		out[i] = toMailEvent(e)
	}
	return out, nil
}

func leaseErr(err error) error {
	if errors.Is(err, booking.ErrLeaseLost) {
		return fmt.Errorf("%w: %v", mail.ErrLeaseLost, err)
	}
	return err
}

func toMailEvent(e booking.Event) mail.Event {
	return mail.Event{ID: e.ID, Kind: e.Kind, BookingID: e.BookingID, Lang: e.Lang,
		DeliverAfter: e.DeliverAfter, Attempt: e.Attempt, LeaseUntil: e.LeaseUntil,
		CreatedAt: e.CreatedAt, LastError: e.LastError}
}

func toBookingEvent(e mail.Event) booking.Event {
	return booking.Event{ID: e.ID, Kind: e.Kind, BookingID: e.BookingID, Lang: e.Lang,
		DeliverAfter: e.DeliverAfter, Attempt: e.Attempt, LeaseUntil: e.LeaseUntil,
		CreatedAt: e.CreatedAt, LastError: e.LastError}
}

// MailBooking: Details carries the recomputed manage token ("" for old rows without a salt:
// the mail then goes out without the link; activation and manage_link mails dead-letter).
func (a BookingMail) MailBooking(ctx context.Context, id int64) (mail.Booking, error) {
	d, err := a.Engine.Details(ctx, id)
	if errors.Is(err, booking.ErrBookingNotFound) || errors.Is(err, booking.ErrNotFound) {
		return mail.Booking{}, fmt.Errorf("%w: %v", mail.ErrNoBooking, err)
	}
	if err != nil {
		return mail.Booking{}, err
	}
	b := d.Booking
	mb := mail.Booking{
		ID: b.ID, Code: b.Code, Status: b.Status, Name: b.Name, Email: b.Email, Lang: b.Lang,
		CalendarUID: b.CalendarUID, Sequence: b.Sequence, Start: b.Start, End: b.End,
		Timezone: d.Location.Timezone, LocationID: d.Location.ID, LocationName: d.Location.Name,
		LocationAddress: d.Location.Address.String(), Persons: b.Persons(),
		FeeCents: d.FeeCents, PaidOnline: d.PaidOnline, ManageToken: d.ManageToken,
		OfficeReason: b.CancelReason,
	}
	if b.ActivationDeadline != nil {
		mb.ActivationDeadline = *b.ActivationDeadline
	}
	if b.PreviousStart != nil && b.PreviousEnd != nil {
		mb.PreviousStart, mb.PreviousEnd = *b.PreviousStart, *b.PreviousEnd
	}
	for _, l := range d.Lines {
		if d.Location.Kind == booking.KindPool {
			mb.Tickets = append(mb.Tickets, mail.Ticket{ID: l.Service.ID, Name: l.Service.Name, Count: l.Count})
			continue
		}
		mb.Services = append(mb.Services, mail.Service{ID: l.Service.ID, Name: l.Service.Name,
			Bring: mail.Text{DE: l.Service.WhatToBring.DE, EN: l.Service.WhatToBring.EN}})
	}
	return mb, nil
}
