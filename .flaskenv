# Read by the `flask` command (python-dotenv): build the app from the factory,
# unpatched, instead of importing app.py, the serving entry point.
FLASK_APP=fitness_app
