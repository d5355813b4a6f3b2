"""Identity: organisations and the creditor directory, staff users and their sign-in
(password + TOTP), citizens and BankID sign-in, API keys."""
