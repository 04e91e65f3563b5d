// Package epay21 is a payment.Platform adapter for epay21-style platforms:
// SOAP 1.1 over HTTPS with HTTP basic auth.
//
// The flow: InitPayment registers the payment and returns the platform's
// PayId and the pay-page URL; after the citizen returns (or a sweeper finds
// one who did not) GetPaymentStatus tells what happened; once the booking is
// recorded, ConfirmPayment closes the payment at the platform. RefundPayment
// pays money back. The platform pushes nothing.
//
// Element names follow the public description of epay21's web service; the
// namespace is configurable because deployments differ. The exact wire
// format as implemented (and spoken by the simulator in package paysim) is
// documented in docs/payment-platform.md.
package epay21
