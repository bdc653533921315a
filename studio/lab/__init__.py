"""The Training Lab: small generators trained live in a worker process, to see training succeed or fail."""
