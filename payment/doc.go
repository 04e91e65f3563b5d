// Package payment holds payment intents, the adapters for municipal payment
// platforms, treasury postings and the daily reconciliation.
//
// This package defines the Platform interface and what every adapter
// shares: normalised states, domain errors, SEPA purpose sanitizing, exact
// decimal amounts, Kassenzeichen with check digit and the verification of
// pushed notifications. Subpackages: epay21 and xbezahldienste (adapters),
// paysim (the platform simulator), settlement and camt (reconciliation
// inputs). Wire formats: docs/payment-platform.md.
package payment
