"""What the bot does on a rejection, a slash command or a button.

Handlers orchestrate the other layers and hold no parsing, engine or Slack
formatting logic of their own. They arrive with the Slack bot.
"""
