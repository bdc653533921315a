"""Networks: plain nn.Modules, one family per file."""
