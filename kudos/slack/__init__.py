"""The Slack app: send kudos from Slack, announced the way each recipient wants."""
