"""Human evaluation: "Real or generated?" and "Which is better?" votes, stored in a database, and the
leaderboard that sets them beside the automatic metrics."""
