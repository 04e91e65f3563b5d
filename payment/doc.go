// Package payment holds payment intents, the adapters for municipal payment
// platforms, treasury postings and the daily reconciliation.
package payment
