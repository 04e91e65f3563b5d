// Package epay21 is a payment.Platform adapter for epay21 (ekom21), SOAP
// 1.1 over HTTPS with HTTP basic auth, service version 11.
//
// The flow: InitPayment registers the payment under our CallerPayID and
// returns the platform's PayID and the pay-page URL; after the citizen
// returns (or a sweeper finds one who did not) GetPaymentStatus, searched
// by our CallerPayID, tells what happened; once the booking is recorded,
// ConfirmPayment closes the payment at the platform. Errors come in-band
// (Result OK false with an ErrorCode) with HTTP 200; SOAP faults are for
// requests the service cannot read.
//
// The element names, nesting, SOAPAction form and error codes follow a
// public client of the real service; refunds and pushed notifications are
// in no public source and are not sent (see docs/payment-platform.md).
// The simulator in package paysim speaks the same wire.
package epay21
