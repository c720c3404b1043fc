"""Study mode pages (学习) and the practice JSON API."""
