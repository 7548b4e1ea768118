"""`python -m fakewechat`: run the fake WeChat API server."""

from fakewechat.server import main

main()
