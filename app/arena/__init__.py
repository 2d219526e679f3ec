"""Judging comparisons: ratings, blind votes, the Bradley-Terry leaderboard and preference exports."""
