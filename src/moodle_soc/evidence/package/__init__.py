"""The auditor's export package: its content, manifest, archive and offline verification."""
