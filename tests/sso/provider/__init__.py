"""The OpenID Connect provider the single-sign-on tests sign in at."""
