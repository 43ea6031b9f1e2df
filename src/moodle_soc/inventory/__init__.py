"""The access inventory: every privileged account and why, its risk flags, HR roster
reconciliation and follow-up verification. Built from the site facade and the policy; the
checks and the review workflows both read it."""
