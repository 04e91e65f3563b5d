// Package xbezahldienste is a payment.Platform adapter for the FITKO
// XBezahldienste REST/JSON interface (v1.0.0 shape), the common interface
// in front of ePayBL, pmPayment and epay21.
//
// POST /paymenttransaction/{originatorId}/{endPointId} creates a payment
// transaction; GET …/{transactionId} reads it back. The standard has no
// push, no confirm call and no refunds: Confirm is a no-op, and Refund uses
// POST …/{transactionId}/refund, an extension that only the simulator in
// package paysim implements (documented in docs/payment-platform.md).
package xbezahldienste
