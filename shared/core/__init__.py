"""What every domain stands on: config, the clock, the database, jobs (outbox), e-mail
queue, errors and the actor. Imports no domain."""
