"""Fakes that speak real protocols on 127.0.0.1, so real clients are exercised."""
