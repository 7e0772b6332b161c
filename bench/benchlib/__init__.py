"""Director's benchmark harness: floors, peers and Director measured with one observer."""
