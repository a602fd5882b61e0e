"""Everything that touches an exchange. The only package that imports ccxt."""
