// Package archtest holds no code: its test enforces the dependency rules
// of DESIGN.md on every Go file in the module, so a forbidden import
// fails `make test` rather than a review.
package archtest
