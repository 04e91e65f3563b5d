package mail

import (
	"context"
	"errors"
)

// Message is one composed e-mail.
type Message struct {
	// ID is the Message-ID without angle brackets. It is stable for one
	// event, so a receiver can drop a copy sent again after a lost lease.
	ID      string
	From    string
	To      Address
	Subject string
	Text    string
	HTML    string
	// Attachments, e.g. the calendar file.
	Attachments []Attachment
}

// Address is a mailbox with an optional display name.
type Address struct {
	Name  string
	Email string
}

// Attachment is a file attached to a message.
type Attachment struct {
	Name string
	// ContentType is the full media type with parameters, e.g.
	// "text/calendar; charset=utf-8; method=PUBLISH".
	ContentType string
	Data        []byte
}

// ErrRejected is wrapped by a Sender when the server refused the message
// for good (a 5xx answer): sending it again would fail again.
var ErrRejected = errors.New("mail: message rejected")

// Sender delivers a message.
type Sender interface {
	Send(ctx context.Context, m *Message) error
}
