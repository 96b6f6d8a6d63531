"""The Label Studio round trip against a running server: connect, create a project, push articles with
pre-annotations, pull annotations back as validated exports."""
