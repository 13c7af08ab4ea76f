"""Transfer strategies: one LightningModule per file on the shared `TransferModule` base."""
