// Package projection mirrors runs into Redis.
package projection
