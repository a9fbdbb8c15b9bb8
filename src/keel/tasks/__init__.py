"""Each user's own tasks: filters, pages, bulk writes, stats and transfers."""
