// Package payment holds payment intents, the adapters for municipal payment
// platforms, treasury postings and the daily reconciliation.
//
// This package defines the Platform interface and what every adapter
// shares: normalised states, domain errors, SEPA purpose sanitizing, exact
// decimal amounts, Kassenzeichen with check digit and the verification of
// pushed notifications; the export file format; and the orchestration:
// Flow (a booking with its payment, status checks, refunds), the outbox
// Worker and the sweeper. They talk to Store and its transaction Tx
// (store.go), which payment/postgres implements; no SQL is written here.
//
// Subpackages: postgres (storage), epay21 and xbezahldienste (adapters),
// paysim (the platform simulator), settlement and camt (reconciliation
// inputs), reconcile (matching). Wire formats: docs/payment-platform.md.
package payment
