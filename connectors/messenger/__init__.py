"""Facebook Messenger channel: webhook, Graph API client and sender.

`channel.MessengerInput` is the Rasa input channel (webhook under
``/webhooks/messenger/webhook``); `sender.MessengerSender` delivers
counsellor messages from the handoff service. README.md in this folder
explains how to connect a Facebook page.
"""
