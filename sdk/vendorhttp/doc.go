// Package vendorhttp holds what every provider plugin needs to talk to a
// vendor's HTTP API: one tuned client with connection reuse, the mapping
// from HTTP failures to the sdk's error kinds, and a server-sent events
// reader. Plugins use it so that every vendor fails the same way.
package vendorhttp
