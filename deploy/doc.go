// Package deploy holds tests of the deployment artefacts.
package deploy
